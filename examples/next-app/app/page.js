// The build id comes from .buildguard/build.env (NEXT_PUBLIC_BUILDGUARD_BUILD_ID), inlined
// by `next build`, so that seal finds it in the bundle (the canary).
const buildId = process.env.NEXT_PUBLIC_BUILDGUARD_BUILD_ID ?? 'dev'

export default function Home() {
  return <main id="app">build {buildId}</main>
}
