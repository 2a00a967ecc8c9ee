// An EXPRESS workflow's timeouts from custom.expressBudget (osls loads local plugins from inside the service folder
// only).
module.exports = require('../../scripts/osls-plugin-express-budget.js');
