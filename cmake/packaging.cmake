# Installation layout of the deploy files and the .deb package (CPack), included from the
# top-level CMakeLists.txt. `cmake --install build --prefix /usr` or `cpack -G DEB` in build.
include(GNUInstallDirs)

set(_deploy ${PROJECT_SOURCE_DIR}/deploy)

# Decided at install time, when the prefix is known (cpack installs with prefix /usr into a
# staging DESTDIR): the config goes to /etc for the /usr prefix (as GNUInstallDirs does) and
# under the prefix otherwise; the unit files' ExecStart= names the installed binary.
install(CODE "set(_reactord_deploy \"${_deploy}\")
set(_reactord_stage \"${CMAKE_BINARY_DIR}/deploy/stage\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(_reactord_etc /etc)
  else()
    set(_reactord_etc "${CMAKE_INSTALL_PREFIX}/etc")
  endif()
  file(INSTALL "${_reactord_deploy}/reactord.toml" DESTINATION "${_reactord_etc}/reactord")
  foreach(_unit reactord.service reactord-activated.service reactord.socket reactord-upper.socket)
    file(READ "${_reactord_deploy}/systemd/${_unit}" _text)
    string(REPLACE "/usr/bin/reactord" "${CMAKE_INSTALL_PREFIX}/bin/reactord" _text "${_text}")
    file(WRITE "${_reactord_stage}/${_unit}" "${_text}")
    file(INSTALL "${_reactord_stage}/${_unit}"
      DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  endforeach()
]])
# Vendor sysctl defaults go to lib/sysctl.d; /etc/sysctl.d stays the administrator's.
install(FILES ${_deploy}/sysctl/90-reactord.conf DESTINATION lib/sysctl.d)
install(FILES ${_deploy}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME reactord)
set(CPACK_PACKAGE_VENDOR "reactord")
set(CPACK_PACKAGE_CONTACT "reactord maintainers <reactord@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "per-core shared-nothing TCP server (echo, upper, http)")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the binaries' shared libraries (libc, libstdc++, liburing, libsystemd).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Debug info stays in the build tree; the package carries stripped binaries.
set(CPACK_STRIP_FILES ON)
# The config file is the administrator's once installed: dpkg asks before replacing edits.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/deploy/debian/conffiles
  ${CMAKE_BINARY_DIR}/deploy/debian/postinst ${CMAKE_BINARY_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# (The package installs under /usr, so its config file is /etc/reactord/reactord.toml.)
file(WRITE ${CMAKE_BINARY_DIR}/deploy/debian/conffiles "/etc/reactord/reactord.toml\n")
# New unit files need a daemon-reload; nothing is enabled or started on install.
set(_reload [=[#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
]=])
file(WRITE ${CMAKE_BINARY_DIR}/deploy/debian/postinst "${_reload}")
file(WRITE ${CMAKE_BINARY_DIR}/deploy/debian/postrm "${_reload}")
file(CHMOD ${CMAKE_BINARY_DIR}/deploy/debian/postinst ${CMAKE_BINARY_DIR}/deploy/debian/postrm
  PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
  WORLD_EXECUTE)
# Only the daemon's install rules (component Unspecified): the library's headers, archive and
# package files (component Development) are for `cmake --install`, not for the daemon's .deb;
# the bench and test targets install nothing.
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};Unspecified;/")
include(CPack)
