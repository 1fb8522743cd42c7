// A static export: `next build` writes the site to out/, which the nginx image serves.
/** @type {import('next').NextConfig} */
const nextConfig = {
  output: 'export',
}

export default nextConfig
