# Every third-party dependency comes from a Debian 12 package (tools/setup installs them)
# and is found here once, as an imported target; modules link these targets only.
find_package(PkgConfig REQUIRED)

# DPDK 22.11. The ring PMD and the vdev bus are linked directly because drivers/nic
# creates ring ports from its own rings (rte_eth_from_rings) and removes them again
# (rte_vdev_uninit); other PMDs are loaded by EAL as plugins.
pkg_check_modules(DPDK REQUIRED IMPORTED_TARGET GLOBAL libdpdk>=22.11)
find_library(DPDK_NET_RING_LIB NAMES rte_net_ring REQUIRED)
find_library(DPDK_BUS_VDEV_LIB NAMES rte_bus_vdev REQUIRED)
add_library(dpdk INTERFACE)
target_link_libraries(dpdk INTERFACE PkgConfig::DPDK ${DPDK_NET_RING_LIB} ${DPDK_BUS_VDEV_LIB})

pkg_check_modules(SRTP2 REQUIRED IMPORTED_TARGET GLOBAL libsrtp2>=2.4)

# mbedTLS 2.28 ships no pkg-config file or CMake package on Debian 12.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/version.h REQUIRED)
find_library(MBEDTLS_LIB mbedtls REQUIRED)
find_library(MBEDX509_LIB mbedx509 REQUIRED)
find_library(MBEDCRYPTO_LIB mbedcrypto REQUIRED)
add_library(mbedtls INTERFACE)
target_include_directories(mbedtls SYSTEM INTERFACE ${MBEDTLS_INCLUDE_DIR})
target_link_libraries(mbedtls INTERFACE ${MBEDTLS_LIB} ${MBEDX509_LIB} ${MBEDCRYPTO_LIB})

# OpenSSL 3 for the DTLS-SRTP legs (the handshake, and HMAC-SHA1 for STUN): Debian's
# mbedTLS 2.28 cannot take Chromium's fragmented ClientHello and has no GCM profiles.
# The control channel stays on mbedTLS. zlib for STUN's CRC-32 FINGERPRINT.
find_package(OpenSSL 3.0 REQUIRED)
find_package(ZLIB REQUIRED)

find_package(Protobuf 3.21 REQUIRED)
find_package(Threads REQUIRED)
find_package(CLI11 REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)

# The PKCS#11 API header (p11-kit's, Debian libp11-kit-dev): sbc-sign loads a token's
# module with dlopen, so only the header is needed at build time.
find_path(PKCS11_INCLUDE_DIR p11-kit/pkcs11.h PATH_SUFFIXES p11-kit-1 REQUIRED)
add_library(pkcs11_headers INTERFACE)
target_include_directories(pkcs11_headers SYSTEM INTERFACE ${PKCS11_INCLUDE_DIR})
