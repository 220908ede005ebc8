// A file compiled into the binary by cmake/EmbedFiles.cmake (schema migrations, the admin page).
#pragma once

#include <span>
#include <string_view>

namespace ota {

struct EmbeddedFile {
  std::string_view path;  // relative to the embedded folder, e.g. "001_initial.sql"
  std::string_view bytes;
};

}  // namespace ota
