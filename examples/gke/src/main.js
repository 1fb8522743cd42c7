// The API is called on the site's own origin: the GKE Ingress sends /api/v5/* to the API's
// Service, everything else to this frontend.
const API_BASE = "/api/v5";
const BUILD = "__BUILD_ID__";

async function session() {
  const response = await fetch(`${API_BASE}/sessions`, { credentials: "include" });
  return response.ok ? response.json() : null;
}

document.getElementById("app").textContent = `frontend ${BUILD}`;
session().catch(() => null);
