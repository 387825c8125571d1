# SPDX-License-Identifier: MIT
# Runs a command and checks its exit status and output, for tests that must fail in a precise
# way (ctest's WILL_FAIL cannot say how).
#   cmake -DCMD=<;-list> -DEXPECT_EXIT=<n> -DEXPECT_REGEX=<;-list> [-DFORBID_REGEX=<;-list>]
#         -DOUTPUT=<file> -P expect_run.cmake
execute_process(COMMAND ${CMD} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(WRITE ${OUTPUT} "${out}${err}")
message("${out}${err}")
if(NOT "${code}" STREQUAL "${EXPECT_EXIT}")
	message(FATAL_ERROR "exit status ${code}, expected ${EXPECT_EXIT}")
endif()
foreach(re IN LISTS EXPECT_REGEX)
	if(NOT "${out}${err}" MATCHES "${re}")
		message(FATAL_ERROR "output does not match: ${re}")
	endif()
endforeach()
foreach(re IN LISTS FORBID_REGEX)
	if("${out}${err}" MATCHES "${re}")
		message(FATAL_ERROR "output matches the forbidden: ${re}")
	endif()
endforeach()
