# SPDX-License-Identifier: MIT
# bench-sandbox: session sandbox figures through the client library (see bench/sandbox_bench.c).
# bench-pyembed: the same embedded libpython without a sandbox, the baseline of bench-sandbox -w.
add_executable(bench-pyembed ${CMAKE_CURRENT_LIST_DIR}/pyembed.c)
target_link_libraries(bench-pyembed PRIVATE PkgConfig::PYEMBED)

add_executable(bench-sandbox ${CMAKE_CURRENT_LIST_DIR}/sandbox_bench.c)
target_link_libraries(bench-sandbox PRIVATE sandbox)
target_compile_definitions(bench-sandbox PRIVATE
	SBX_BENCH_ZYGOTE="$<TARGET_FILE:sessionpool-zygote>"
	SBX_BENCH_PYEMBED="$<TARGET_FILE:bench-pyembed>")
add_dependencies(bench-sandbox sessionpool-zygote bench-pyembed)
sp_sanitize(bench-sandbox)
