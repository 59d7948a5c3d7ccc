# Options for `cmake --graphviz` (tools/target-graph copies this file into its build
# folder as CMakeGraphVizOptions.cmake): our libraries and executables only, without
# tests, benches and third-party targets, so the picture is the module graph.
set(GRAPHVIZ_GRAPH_NAME "sbc")
set(GRAPHVIZ_EXTERNAL_LIBS FALSE)
set(GRAPHVIZ_INTERFACE_LIBS TRUE)
set(GRAPHVIZ_GENERATE_PER_TARGET FALSE)
set(GRAPHVIZ_GENERATE_DEPENDERS FALSE)
set(GRAPHVIZ_IGNORE_TARGETS
  ".*_test$" ".*_bench$" "test_support" "dpdk_test_main" "signing_support" "pki_support"
  "sbc_warnings" "dpdk" "mbedtls" "GTest::.*" "benchmark::.*" "CLI11::.*" "PkgConfig::.*"
  "protobuf::.*" "Threads::Threads")
