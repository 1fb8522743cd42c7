const BASE_URL = `${import.meta.env.VITE_BASE_URL}/api/v1`;
const API_VERSION = import.meta.env.VITE_API_VERSION;
export const API_URL = `${BASE_URL}/api/v${API_VERSION}`;
