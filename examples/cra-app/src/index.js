import React from 'react'
import { createRoot } from 'react-dom/client'
import './index.css'

// The build id comes from .buildguard/build.env (REACT_APP_BUILDGUARD_BUILD_ID), inlined by
// `react-scripts build`, so that seal finds it in the bundle (the canary).
const buildId = process.env.REACT_APP_BUILDGUARD_BUILD_ID ?? 'dev'
window.__BUILDGUARD_BUILD_ID__ = buildId

createRoot(document.getElementById('root')).render(<main id="app">build {buildId}</main>)
