// Fills the HEIF decoder layer before packaging (osls only loads local plugins from inside the service folder).
module.exports = require('../../scripts/osls-plugin-layer-requirements.js');
