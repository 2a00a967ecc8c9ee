// Every log group's deletion policy from custom.logGroupDeletionPolicy (osls loads local plugins from inside the
// service folder only).
module.exports = require('../../scripts/osls-plugin-log-groups.js');
