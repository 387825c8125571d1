# SPDX-License-Identifier: MIT
add_executable(bench_http ${CMAKE_CURRENT_SOURCE_DIR}/bench_http.c)
target_link_libraries(bench_http PRIVATE spcommon PkgConfig::CURL)
sp_sanitize(bench_http)
