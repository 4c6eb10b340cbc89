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
  # A staging directory of its own per install: two cpack runs at once (the package tests)
  # must not write the same file.
  string(RANDOM LENGTH 12 _reactord_run)
  set(_reactord_stage "${_reactord_stage}/${_reactord_run}")
  foreach(_unit reactord.service reactord-activated.service reactord.socket reactord-upper.socket)
    file(READ "${_reactord_deploy}/systemd/${_unit}" _text)
    string(REPLACE "/usr/sbin/reactord" "${CMAKE_INSTALL_PREFIX}/sbin/reactord" _text "${_text}")
    file(WRITE "${_reactord_stage}/${_unit}" "${_text}")
    file(INSTALL "${_reactord_stage}/${_unit}"
      DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  endforeach()
  file(REMOVE_RECURSE "${_reactord_stage}")
]])
# The sysctl profile changes the whole host's TCP settings: it is an example the administrator
# opts into (copy it to /etc/sysctl.d/), never applied silently.
install(FILES ${_deploy}/sysctl/90-reactord.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/ARCHITECTURE.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${_deploy}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME DEPLOY.md)
install(FILES ${_deploy}/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Man pages and the changelog, compressed as Debian policy asks (gzip -9n: no name, no time,
# so the package is reproducible).
set(_gz ${CMAKE_BINARY_DIR}/deploy/gz)
file(MAKE_DIRECTORY ${_gz})
foreach(_src man/reactord.8 man/reactord-client.1 man/reactord-bench.1 debian/changelog)
  get_filename_component(_name ${_src} NAME)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_deploy}/${_src})
  execute_process(COMMAND gzip -9n -c ${_deploy}/${_src} OUTPUT_FILE ${_gz}/${_name}.gz
    COMMAND_ERROR_IS_FATAL ANY)
endforeach()
install(FILES ${_gz}/reactord.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${_gz}/reactord-client.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# The load generator ships with the daemon when it is built (REACTORD_BUILD_BENCH).
if(TARGET reactord-bench)
  install(TARGETS reactord-bench RUNTIME DESTINATION bin)
  install(FILES ${_gz}/reactord-bench.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
# A native package's Debian changelog is changelog.gz.
install(FILES ${_gz}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME reactord)
set(CPACK_PACKAGE_VENDOR "reactord")
set(CPACK_PACKAGE_CONTACT "reactord maintainers <maintainers@users.noreply.r-seed-b552098a.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "per-core shared-nothing TCP server (echo, upper, http)")
# The extended description (CPack puts the summary above it as the synopsis).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "reactord runs one event loop per CPU, each with its own SO_REUSEPORT listener,
on io_uring or epoll. It serves echo, an upper-casing line protocol, HTTP/1.1
(with /health, /ready and Prometheus /metrics) and UDP echo, and speaks
systemd's notify, watchdog and socket-activation protocols.
.
This package holds the daemon, its systemd units and configuration, and the
reactord-client and reactord-bench tools.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the binaries' shared libraries (libc, libstdc++, liburing, libsystemd), plus
# the helpers the maintainer scripts call.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "init-system-helpers (>= 1.52)")
# Debug info stays in the build tree; the package carries stripped binaries.
set(CPACK_STRIP_FILES ON)
# The config file is the administrator's once installed: dpkg asks before replacing edits.
# Maintainer scripts (deploy/debian): install enables and starts reactord.service, removal
# stops it, purge forgets it, as Debian's systemd helpers do it.
file(WRITE ${CMAKE_BINARY_DIR}/deploy/debian/conffiles "/etc/reactord/reactord.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/deploy/debian/conffiles
  ${_deploy}/debian/postinst ${_deploy}/debian/prerm ${_deploy}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Only the daemon's install rules (component Unspecified): the library's headers, archive and
# package files (component Development) are for `cmake --install`, not for the daemon's .deb;
# the bench and test targets install nothing.
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};Unspecified;/")
include(CPack)
