// Logical ids that carry a version, from custom.versionedLogicalIds (osls loads local plugins from inside the
// service folder only).
module.exports = require('../../scripts/osls-plugin-versioned-ids.js');
