# SPDX-License-Identifier: MIT
# bench-sandbox: session sandbox figures through the client library (see bench/sandbox_bench.c).
add_executable(bench-sandbox ${CMAKE_CURRENT_LIST_DIR}/sandbox_bench.c)
target_link_libraries(bench-sandbox PRIVATE sandbox)
target_compile_definitions(bench-sandbox PRIVATE
	SBX_BENCH_ZYGOTE="$<TARGET_FILE:sessionpool-zygote>")
add_dependencies(bench-sandbox sessionpool-zygote)
sp_sanitize(bench-sandbox)
