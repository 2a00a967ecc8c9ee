// Adds compiled bytecode to this service's zip (osls only loads local plugins from inside the service folder).
module.exports = require('../../scripts/osls-plugin-bytecode.js');
