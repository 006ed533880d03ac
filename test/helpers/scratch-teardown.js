module.exports = require('./scratch-folder.js').teardown;
