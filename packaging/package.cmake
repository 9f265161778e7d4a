# Installation rules and the Debian package: `cmake --build build && (cd build && cpack -G DEB)`
# writes liaison_VERSION_ARCH.deb. Included at the end of the top-level CMakeLists.txt, once
# every target exists. It installs:
#   /usr/bin/                      the programs
#   /usr/lib/liaison/liaison-http.so   the CLI's HTTP module (`liaison` looks for it beside
#                                  itself, then in ../lib/liaison/: cli/http.cpp)
#   /usr/share/man/man1/           a page per program, made at build time from its --help
#   /usr/share/doc/liaison/        README.md, and examples/: config/*.toml and the sample data
#   /lib/systemd/system/           liaison-broker, liaison-site@NAME, liaison-interpol and
#                                  liaison-bridge (packaging/systemd/)
#   /etc/default/liaison-*         the units' extra flags (conffiles)
# The maintainer scripts (packaging/debian/) make the `liaison` system user and /var/lib/liaison.
# tests/package_test.sh builds the package and checks all of it.

set(LIAISON_PROGRAMS liaison liaison-broker liaison-site liaison-interpol liaison-bridge)
if(TARGET liaison-gendir)  # built with the tests (LIAISON_TESTS)
  list(APPEND LIAISON_PROGRAMS liaison-gendir)
endif()

# Man pages from each program's --help (`liaison --help-all`: every subcommand's options).
set(LIAISON_MAN_PAGES)
foreach(program IN LISTS LIAISON_PROGRAMS)
  set(page ${CMAKE_BINARY_DIR}/man/${program}.1.gz)
  set(help_option --help)
  if(program STREQUAL "liaison")
    set(help_option --help-all)
  endif()
  add_custom_command(
    OUTPUT ${page}
    COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/help2man.sh
            $<TARGET_FILE:${program}> ${program} ${PROJECT_VERSION} ${page} ${help_option}
    DEPENDS ${program} ${PROJECT_SOURCE_DIR}/packaging/help2man.sh
    COMMENT "Man page ${program}.1 from its ${help_option}"
    VERBATIM)
  list(APPEND LIAISON_MAN_PAGES ${page})
endforeach()
add_custom_target(liaison-man ALL DEPENDS ${LIAISON_MAN_PAGES})

install(TARGETS ${LIAISON_PROGRAMS} RUNTIME DESTINATION bin)
install(TARGETS liaison-http LIBRARY DESTINATION lib/liaison)
install(FILES ${LIAISON_MAN_PAGES} DESTINATION share/man/man1)
install(FILES README.md DESTINATION share/doc/liaison)
install(FILES docs/figures-history.md DESTINATION share/doc/liaison/docs)  # linked from the README
install(FILES config/broker.toml config/site.toml config/bridge-casc.toml
              config/bridge-seajust.toml
        DESTINATION share/doc/liaison/examples)
install(DIRECTORY config/sample DESTINATION share/doc/liaison/examples)
# Absolute: systemd's and Debian's places, whatever the prefix.
install(FILES packaging/systemd/liaison-broker.service packaging/systemd/liaison-site@.service
              packaging/systemd/liaison-interpol.service packaging/systemd/liaison-bridge.service
        DESTINATION /lib/systemd/system)
install(FILES packaging/default/liaison-broker packaging/default/liaison-site
              packaging/default/liaison-interpol packaging/default/liaison-bridge
        DESTINATION /etc/default)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME liaison)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Liaison")
set(CPACK_PACKAGE_CONTACT "Liaison maintainers <liaison@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "verified contact directory and alert bus for prosecutors' networks")
set(CPACK_PACKAGE_DESCRIPTION
    "Liaison keeps a network of prosecution services' focal points in a signed, replicated
directory, and carries urgent alerts between them with receipts and acknowledgements.
This package holds the liaison command, the broker, site, Interpol adapter and bridge
daemons with hardened systemd units, their man pages and example configurations.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages come from dpkg-shlibdeps (dpkg-dev); adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "lmdb-utils")  # mdb_copy, for backups
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# No absolute-destination warnings: /lib/systemd/system and /etc/default are meant.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
