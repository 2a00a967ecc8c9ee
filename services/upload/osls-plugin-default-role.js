// The framework's default role removed when no function uses it (osls loads local plugins from inside the service
// folder only).
module.exports = require('../../scripts/osls-plugin-default-role.js');
