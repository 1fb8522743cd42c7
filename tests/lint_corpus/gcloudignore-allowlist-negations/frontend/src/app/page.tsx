export default function Page() {
  return <main>ready</main>
}
