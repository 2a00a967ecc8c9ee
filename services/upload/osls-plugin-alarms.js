// Errors and Throttles alarms for every function, a 5xx-rate alarm for the API, every alarm wired to the alarm topic
// (osls loads local plugins from inside the service folder only).
module.exports = require('../../scripts/osls-plugin-alarms.js');
