# Installing mrxcl (included at the end of the top-level CMakeLists.txt):
#   cmake --install build [--prefix P]   the program, the library (static, or shared with its
#                                        soname links under -DBUILD_SHARED_LIBS=ON), mrxcl.h,
#                                        mrxcl.pc, the CMake package, the man page, README and
#                                        licence; the default model rides inside the library
#   cd build && cpack -G DEB             the same as a Debian package, mrxcl_VERSION_ARCH.deb
# tests/test_install.sh builds programs against an installed tree; tests/test_manpage.sh
# holds docs/mrxcl.1 to every option that --help prints.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MRXCL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mrxcl)

# Consumers see the library as mrxcl::mrxcl (find_package) or -lmrxcl (pkg-config).
set_target_properties(mrxcl_lib PROPERTIES EXPORT_NAME mrxcl
  PUBLIC_HEADER ${CMAKE_SOURCE_DIR}/include/mrxcl.h)
if(BUILD_SHARED_LIBS)
  # A program installed under any prefix finds the library beside it; a system prefix
  # (/usr) needs no search path, and the path then does no harm.
  set_target_properties(mrxcl PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
endif()

install(TARGETS mrxcl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mrxcl_lib EXPORT mrxclTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# CMake package: find_package(mrxcl) -> mrxcl::mrxcl. Before 1.0 a minor version may change
# the ABI (see the SOVERSION above), so only the same MAJOR.MINOR is compatible.
install(EXPORT mrxclTargets NAMESPACE mrxcl:: FILE mrxclTargets.cmake
  DESTINATION ${MRXCL_CMAKE_DIR})
if(BUILD_SHARED_LIBS)
  set(MRXCL_SHARED ON)
else()
  set(MRXCL_SHARED OFF)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/mrxclConfig.cmake.in
  ${CMAKE_BINARY_DIR}/mrxclConfig.cmake INSTALL_DESTINATION ${MRXCL_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/mrxclConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/mrxclConfig.cmake ${CMAKE_BINARY_DIR}/mrxclConfigVersion.cmake
  DESTINATION ${MRXCL_CMAKE_DIR})

# pkg-config. Its prefix is the one installed to, known only at install time
# (cmake --install --prefix P, or CPack's /usr): the file is configured now with every other
# value, and again at install time with the prefix.
set(MRXCL_PC_PREFIX "@MRXCL_PC_PREFIX@")
configure_file(${CMAKE_CURRENT_LIST_DIR}/mrxcl.pc.in ${CMAKE_BINARY_DIR}/mrxcl.pc.in @ONLY)
install(CODE "
  set(MRXCL_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_BINARY_DIR}/mrxcl.pc.in\" \"${CMAKE_BINARY_DIR}/mrxcl.pc\" @ONLY)")
install(FILES ${CMAKE_BINARY_DIR}/mrxcl.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The man page, gzipped as Debian installs man pages (man reads both).
find_program(MRXCL_GZIP gzip)
if(MRXCL_GZIP)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/mrxcl.1.gz
    COMMAND ${MRXCL_GZIP} -9 -n -c ${CMAKE_SOURCE_DIR}/docs/mrxcl.1 > ${CMAKE_BINARY_DIR}/mrxcl.1.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/docs/mrxcl.1 COMMENT "Compressing the man page")
  add_custom_target(mrxcl_man ALL DEPENDS ${CMAKE_BINARY_DIR}/mrxcl.1.gz)
  install(FILES ${CMAKE_BINARY_DIR}/mrxcl.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  install(FILES ${CMAKE_SOURCE_DIR}/docs/mrxcl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/LICENSE
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Debian package (cpack -G DEB): one package with the program and the files to build against
# the library; Depends names Debian 12's runtime libraries of the program and the library.
set(CPACK_PACKAGE_NAME mrxcl)
set(CPACK_PACKAGE_VENDOR "the mrxcl authors")
set(CPACK_PACKAGE_CONTACT "the mrxcl authors" CACHE STRING "Maintainer of the Debian package")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "separates film soundtracks into speech, music and sound effects on OpenCL")
set(CPACK_PACKAGE_DESCRIPTION
  "mrxcl splits a film or TV soundtrack into three stems, speech, music and sound effects,
with the MRX network, on any OpenCL device: GPUs, or the CPU through PoCL. This package has
the mrxcl program with a default model built in, and the C library (libmrxcl, mrxcl.h,
pkg-config and CMake package files) to embed it in other programs.")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION sound)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libc6, ocl-icd-libopencl1 | libopencl1, libclfft2, libclblast1, libkissfft-float131, libsndfile1, libsoxr0, libebur128-1, libcjson1")
if(MRXCL_HOST_BLAS_FOUND) # libmrxcl links libopenblas.so.0 (host GEMMs on CPU devices)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libopenblas0")
endif()
# Any OpenCL driver does; PoCL runs on every CPU.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pocl-opencl-icd | opencl-icd")
# Building against the static library needs the dependencies' development files.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
  "pkg-config, ocl-icd-opencl-dev, libclfft-dev, libclblast-dev, libkissfft-dev, libsoxr-dev, libcjson-dev, libopenblas-dev")
include(CPack)
