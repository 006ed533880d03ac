module.exports = require('./scratch-folder.js').setup;
