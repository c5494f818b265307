# sgm as an installed library: install rules (GNUInstallDirs, relocatable),
# sgm.pc, sgmConfig.cmake + sgmConfigVersion.cmake (exported targets
# sgm::sgm and sgm::sgm_static), the man page and bash completion, a Debian
# package through CPack, and the tests of all of these. Included from the
# top CMakeLists.txt after the targets are defined.
include(CMakePackageConfigHelpers)

set(SGM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sgm)
set_target_properties(sgm PROPERTIES EXPORT_NAME sgm_static)
set_target_properties(sgm_shared PROPERTIES EXPORT_NAME sgm)

install(TARGETS sgm_shared EXPORT sgmTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS sgm EXPORT sgmStaticTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS sgm_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT sgmTargets NAMESPACE sgm:: DESTINATION ${SGM_CMAKE_DIR})
install(EXPORT sgmStaticTargets NAMESPACE sgm:: DESTINATION ${SGM_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/sgmConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/sgmConfig.cmake INSTALL_DESTINATION ${SGM_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/sgmConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/sgmConfig.cmake ${CMAKE_BINARY_DIR}/sgmConfigVersion.cmake
        DESTINATION ${SGM_CMAKE_DIR})

# sgm.pc. Libs.private lists the static library's dependencies as plain -l
# flags rather than Requires.private: OpenBLAS must be the OpenMP build (its
# directory, with a run path, since its soname is the pthreads build's), and
# cJSON / oneDNN / OpenMP ship no .pc everywhere.
# The list is what the static library links (its LINK_LIBRARIES), as flags.
get_target_property(sgm_links sgm LINK_LIBRARIES)
set(SGM_PC_LIBS_PRIVATE "")
foreach(lib ${sgm_links})
  if(lib STREQUAL "OpenMP::OpenMP_C")
    string(APPEND SGM_PC_LIBS_PRIVATE " ${OpenMP_C_FLAGS}")
    continue()
  elseif(lib STREQUAL "PNG::PNG")
    set(files ${PNG_LIBRARIES})
  elseif(IS_ABSOLUTE "${lib}")
    set(files ${lib})
  else()
    string(APPEND SGM_PC_LIBS_PRIVATE " -l${lib}")
    continue()
  endif()
  foreach(f ${files})
    get_filename_component(dir ${f} DIRECTORY)
    get_filename_component(name ${f} NAME_WE)
    string(REGEX REPLACE "^lib" "" name ${name})
    if(dir STREQUAL "${OPENBLAS_LIBDIR}")
      string(APPEND SGM_PC_LIBS_PRIVATE " -L${dir} -Wl,-rpath,${dir}")
    endif()
    string(APPEND SGM_PC_LIBS_PRIVATE " -l${name}")
  endforeach()
endforeach()
string(STRIP "${SGM_PC_LIBS_PRIVATE}" SGM_PC_LIBS_PRIVATE)
file(RELATIVE_PATH SGM_PC_PREFIX_REL /_prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /_prefix)
string(REGEX REPLACE "/$" "" SGM_PC_PREFIX_REL "${SGM_PC_PREFIX_REL}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/sgm.pc.in ${CMAKE_BINARY_DIR}/sgm.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/sgm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# man page sgm(1), generated from the built CLI's help text
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/sgm.1
                   COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/gen-manpage.sh $<TARGET_FILE:sgm_cli>
                           ${CMAKE_BINARY_DIR}/sgm.1
                   DEPENDS sgm_cli ${CMAKE_SOURCE_DIR}/scripts/gen-manpage.sh
                   COMMENT "Generating the man page sgm.1")
add_custom_target(sgm_man ALL DEPENDS ${CMAKE_BINARY_DIR}/sgm.1)
install(FILES ${CMAKE_BINARY_DIR}/sgm.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_SOURCE_DIR}/scripts/sgm-completion.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME sgm)

# Debian package: `make deb` (cpack -G DEB) writes sgm_<version>_<arch>.deb
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sgm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR sgm)
set(CPACK_PACKAGE_CONTACT "sgm developers <sgm@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "score-based generative models in C11: library, headers and the sgm CLI")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# Depends: from the shared libraries the binaries link (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
include(CPack)

# tests of the installed library (downstream programs of a sanitizer build
# are built with the sanitizers too)
set(sgm_san OFF)
if(SGM_SANITIZE)
  set(sgm_san ON)
endif()
set(SGM_INSTALL_TEST_ENV "SGM_SOURCE_DIR=${CMAKE_SOURCE_DIR};SGM_BUILD_DIR=${CMAKE_BINARY_DIR}"
    "CMAKE_COMMAND=${CMAKE_COMMAND};CPACK_COMMAND=${CMAKE_CPACK_COMMAND};CC=${CMAKE_C_COMPILER}"
    "SGM_SANITIZE=${sgm_san};OMP_NUM_THREADS=2;OMP_WAIT_POLICY=PASSIVE")
add_test(NAME install_exports COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/exports.sh
         $<TARGET_FILE:sgm_shared>)
add_test(NAME install_man_completion COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/man_completion.sh)
add_test(NAME install_downstream COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/downstream.sh)
add_test(NAME install_deb COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/deb.sh)
set_tests_properties(install_exports install_man_completion install_downstream install_deb
  PROPERTIES SKIP_RETURN_CODE 77 ENVIRONMENT "${SGM_INSTALL_TEST_ENV}"
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
# both run the install rules of this build tree (install_manifest.txt)
set_tests_properties(install_downstream install_deb PROPERTIES RESOURCE_LOCK sgm_install)

# the public headers compile as C++ (when a C++ compiler is there)
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
  list(APPEND SGM_INSTALL_TEST_ENV "CXX=${CMAKE_CXX_COMPILER}")
  set_tests_properties(install_downstream PROPERTIES ENVIRONMENT "${SGM_INSTALL_TEST_ENV}")
  add_executable(test_cxx_headers ${CMAKE_SOURCE_DIR}/tests/cxx/test_headers.cpp)
  target_link_libraries(test_cxx_headers PRIVATE sgm)
  set(SGM_CXX_WARN -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -pedantic)
  if(SGM_WERROR)
    list(APPEND SGM_CXX_WARN -Werror)
  endif()
  target_compile_options(test_cxx_headers PRIVATE ${SGM_CXX_WARN})
  add_test(NAME cxx_headers COMMAND test_cxx_headers)
else()
  message(STATUS "sgm: no C++ compiler, the C++ header test is not built")
endif()
