// Where the API is. Empty: the same origin as this page (the local platform serves both).
// For a static deployment, set it to your API's URL, or open the page with ?api=https://... .
window.IMGPLAT_CONFIG = { apiUrl: "" };
