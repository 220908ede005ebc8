# The Debian package: install rules for everything but the binary, and CPack's DEB generator.
#
#   bash packaging/build-deb.sh            # the documented way (deps, hardened Release, lintian)
#   cmake --build BUILD --target package   # from any configured tree (hardened only with
#                                          # -DOTA_HARDENING=ON -DCMAKE_BUILD_TYPE=Release)
#
# Result: BUILD/otaserver_<version>_amd64.deb, plus BUILD/otaserver-dbgsym_<version>_amd64.ddeb
# holding the separated debug info (never shipped in the .deb). See packaging/README.md.
#
# Why CPack and not dpkg-buildpackage: the package is one binary plus data files, CPack builds it
# from a fresh clone with no debian/ source directory to keep in step with CMake, and lintian
# passes with no error and no warning. The maintainer scripts in packaging/debian/ are
# hand-written equivalents of what dh_installsystemd generates.

set(OTA_PKG_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(OTA_PKG_OUT ${PROJECT_BINARY_DIR}/packaging)

# --- Hardening (Debian's hardening=+all equivalent; off by default so dev/ASan builds stay as they are)
option(OTA_HARDENING "Build with PIE, full RELRO + BIND_NOW, _FORTIFY_SOURCE=2, stack protector" OFF)
if(OTA_HARDENING)
  # ota_settings is linked PRIVATE by every first-party target (cmake/ProjectSettings.cmake).
  target_compile_options(ota_settings INTERFACE
    -fPIE -fstack-protector-strong -fstack-clash-protection -fcf-protection -Wformat -Werror=format-security)
  # _FORTIFY_SOURCE needs optimisation; Debug builds would only get a warning per file.
  target_compile_definitions(ota_settings INTERFACE $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
  target_link_options(otaserver PRIVATE -pie LINKER:-z,relro LINKER:-z,now LINKER:--as-needed)
endif()

# --- Files the package installs besides the binary (install(TARGETS otaserver) is in src/).
# Paths below are absolute on purpose: /etc and /lib are outside CMAKE_INSTALL_PREFIX (/usr).

# Version-dependent files are generated at configure time; gzip -9n (no name, no timestamp) is
# what Debian policy and lintian want for man pages and changelogs, and keeps builds reproducible.
configure_file(${OTA_PKG_DIR}/otaserver.8 ${OTA_PKG_OUT}/otaserver.8 @ONLY)

# The package version is the Debian changelog's newest entry, which must be this version: a
# warning here (configuring must not fail for developers), an error in packaging/build-deb.sh.
file(STRINGS ${OTA_PKG_DIR}/debian/changelog _ota_changelog_head LIMIT_COUNT 1)
if(NOT _ota_changelog_head MATCHES "^otaserver \\(${PROJECT_VERSION}(-[0-9A-Za-z.+~]+)?\\) ")
  message(WARNING "packaging/debian/changelog: the newest entry is \"${_ota_changelog_head}\", "
                  "not version ${PROJECT_VERSION}; add an entry before building a package")
endif()
string(REGEX REPLACE "^otaserver \\(([^)]+)\\).*" "\\1" OTA_DEB_VERSION "${_ota_changelog_head}")

find_program(OTA_GZIP gzip REQUIRED)
set(_ota_gz_outputs)
foreach(_pair "${OTA_PKG_OUT}/otaserver.8|otaserver.8.gz"
              "${OTA_PKG_DIR}/debian/changelog|changelog.gz")
  string(REPLACE "|" ";" _pair "${_pair}")
  list(GET _pair 0 _src)
  list(GET _pair 1 _dst)
  add_custom_command(OUTPUT ${OTA_PKG_OUT}/${_dst}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${OTA_PKG_OUT}
    COMMAND sh -c "'${OTA_GZIP}' -9nc '${_src}' > '${OTA_PKG_OUT}/${_dst}'"
    DEPENDS ${_src} VERBATIM)
  list(APPEND _ota_gz_outputs ${OTA_PKG_OUT}/${_dst})
endforeach()
add_custom_target(ota_package_files ALL DEPENDS ${_ota_gz_outputs})

install(FILES ${PROJECT_SOURCE_DIR}/systemd/otaserver.service
        DESTINATION /lib/systemd/system PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${OTA_PKG_DIR}/otaserver.conf
        DESTINATION /etc/otaserver PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${OTA_PKG_OUT}/otaserver.8.gz DESTINATION share/man/man8)
# A native package (version 0.1.0, no Debian revision: this repository is upstream) has one
# changelog, /usr/share/doc/otaserver/changelog.gz; changelog.Debian.gz is for packages of
# someone else's software, and lintian warns about it here (wrong-name-for-changelog-of-native-package).
install(FILES ${OTA_PKG_DIR}/debian/copyright ${OTA_PKG_OUT}/changelog.gz
        DESTINATION share/doc/otaserver)
install(FILES ${OTA_PKG_DIR}/README.md DESTINATION share/doc/otaserver RENAME README.Debian)
install(FILES ${OTA_PKG_DIR}/nginx/otaserver.conf DESTINATION share/doc/otaserver/examples/nginx)
install(FILES ${OTA_PKG_DIR}/caddy/Caddyfile DESTINATION share/doc/otaserver/examples/caddy)
# Shipped only when it holds an override (today it holds none: lintian is clean).
file(STRINGS ${OTA_PKG_DIR}/debian/otaserver.lintian-overrides _ota_overrides REGEX "^[^#]")
if(_ota_overrides)
  install(FILES ${OTA_PKG_DIR}/debian/otaserver.lintian-overrides
          DESTINATION share/lintian/overrides RENAME otaserver)
endif()

# --- CPack DEB
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME otaserver)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_VERSION ${OTA_DEB_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # otaserver_<version>_<arch>.deb
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR})
# Absolute destinations (/etc, /lib) need DESTDIR staging; then the prefix must be /usr too.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# No CPACK_STRIP_FILES: with DEBUGINFO_PACKAGE, CPack itself moves the debug info of the
# installed binary into otaserver-dbgsym_*.ddeb (next to the .deb, not shipped), then strips it
# (objcopy --strip-unneeded) and adds a .gnu_debuglink. Stripping first would leave no debug info.
set(CPACK_STRIP_FILES OFF)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(OTA_DEB_MAINTAINER "otaserver maintainers <maintainers@users.noreply.h-seed-67c9cc4c.example>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${OTA_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${OTA_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://ota.example.com/otaserver" CACHE STRING "Homepage field")
# Runtime libraries come from dpkg-shlibdeps; adduser is for postinst; deb-systemd-helper and
# deb-systemd-invoke (init-system-helpers, Essential on Debian 12) run the unit.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx | caddy")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted over-the-air update server for Expo apps")
# CPack writes CPACK_PACKAGE_DESCRIPTION_SUMMARY as the synopsis line, this as the extended part.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"otaserver serves updates to mobile apps from one data directory, in one
process, with no other service to run:
 - Expo / React Native: an unmodified expo-updates client points its
   updates URL at the server (Expo Updates protocol 0 and 1, code signing,
   channels and branches, partial rollouts, rollback to the embedded update);
 - native hot patches (JSPatch, OCRunner, any patch file) keyed by app
   version and build.
Metadata is kept in SQLite, assets content-addressed by SHA-256 in RocksDB.
The package runs the server as the systemd unit otaserver.service under the
otaserver system user, with its data in /var/lib/otaserver, on 127.0.0.1
behind a TLS-terminating reverse proxy (nginx and Caddy examples included).")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${OTA_PKG_DIR}/debian/conffiles ${OTA_PKG_DIR}/debian/postinst ${OTA_PKG_DIR}/debian/prerm ${OTA_PKG_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
