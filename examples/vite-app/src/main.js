import './style.css'

// The build id is injected at build time (VITE_BUILDGUARD_BUILD_ID) and must
// survive minification so buildguard can find it in the JS bundle.
const buildId = import.meta.env.VITE_BUILDGUARD_BUILD_ID ?? 'dev'
window.__BUILDGUARD_BUILD_ID__ = buildId
document.querySelector('#app').textContent = 'build ' + buildId
