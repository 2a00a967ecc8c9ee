// The REST API's stage as a template resource: throttling, tracing, JSON access logs (osls loads local plugins from
// inside the service folder only).
module.exports = require('../../scripts/osls-plugin-api-stage.js');
