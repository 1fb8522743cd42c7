export const BASE_URL = '/api';

export function fetchUsers() {
  return fetch(`${BASE_URL}/users`).then((r) => (r.ok ? r.json() : null));
}

export function fetchMe() {
  return fetch(`${BASE_URL}/me`).then((r) => (r.ok ? r.json() : null));
}

export function fetchSemesterAffectations(semesterId) {
  return fetch(`${BASE_URL}/semesters/${semesterId}/affectations`).then((r) => r.json());
}

export const fetchUserById = async (id) => {
  const response = await fetch(`/api/users/${id}`);
  return response.json();
};
