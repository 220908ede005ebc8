// The composition root: parses the command line, builds every component in order, owns them and
// tears them down in reverse. The only module that reads config/ and knows every other module.
#pragma once

namespace ota::app {

// Runs the otaserver command line; returns the process exit code.
int run(int argc, char** argv);

}  // namespace ota::app
