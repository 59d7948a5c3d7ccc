# Helpers that give every module the same shape: a library named after its folder,
# a public include/ folder, private sources, and the project's warning flags.

# Warnings apply to the project's own code only; third-party headers come in as SYSTEM.
# CI builds with SBC_WERROR=ON (tools/test passes the environment's SBC_WERROR on), so
# no warning lands; a developer on a newer compiler with new warnings still builds.
option(SBC_WERROR "Treat the project's warnings as errors" OFF)
add_library(sbc_warnings INTERFACE)
target_compile_options(sbc_warnings INTERFACE $<$<BOOL:${SBC_WERROR}>:-Werror>)
target_compile_options(sbc_warnings INTERFACE -Wall -Wextra -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  # Designated initializers leave unnamed members at their declared defaults on purpose.
  -Wno-missing-field-initializers
  # GCC 12 at -O3 reports impossible overlaps inside std::string (GCC bug 105329), and
  # impossible overflows inside std::vector's range insert (GCC bug 107852).
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict -Wno-stringop-overflow>)

# sbc_module(NAME name SOURCES ... DEPS ...)
# Defines library `name` (alias sbc::name) with include/ public and src/ private.
function(sbc_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(${M_NAME} STATIC ${M_SOURCES})
  add_library(sbc::${M_NAME} ALIAS ${M_NAME})
  target_include_directories(${M_NAME} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                       PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${M_NAME} PUBLIC ${M_DEPS} PRIVATE sbc_warnings)
endfunction()

# sbc_test(NAME name SOURCES ... DEPS ... [OWN_MAIN] [LABELS ...])
# A GoogleTest binary registered with CTest; each test case becomes a CTest test.
# OWN_MAIN: the sources define main() (DPDK tests do, to register the EAL environment).
function(sbc_test)
  cmake_parse_arguments(T "OWN_MAIN" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock sbc_warnings)
  if(NOT T_OWN_MAIN)
    target_link_libraries(${T_NAME} PRIVATE GTest::gtest_main)
  endif()
  target_compile_definitions(${T_NAME} PRIVATE
    SBC_SOURCE_DIR="${PROJECT_SOURCE_DIR}" SBC_BINARY_DIR="${PROJECT_BINARY_DIR}")
  set(props TIMEOUT 900)  # a bound for a hung test only: a loaded machine is slow, not stuck
  if(T_LABELS)
    list(APPEND props LABELS "${T_LABELS}")
  endif()
  gtest_discover_tests(${T_NAME} DISCOVERY_MODE PRE_TEST PROPERTIES ${props})
endfunction()
include(GoogleTest)
