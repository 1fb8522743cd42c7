import { defineStore } from 'pinia'

// "/api/v5" in production (.env.production)
const API_BASE_URL = import.meta.env.VITE_API_BASE_URL

export const useSessionStore = defineStore('session', {
  state: () => ({ sessions: [] as unknown[] }),
  actions: {
    async load() {
      const response = await fetch(`${API_BASE_URL}/v5/sessions`)
      this.sessions = await response.json()
    },
  },
})
