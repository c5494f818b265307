# sgm_fuzz.cmake - libFuzzer harnesses (fuzz/fuzz_*.c), built with
# -DSGM_FUZZ=ON in their own build folder with clang (scripts/fuzz.sh):
# the library sources are compiled with -fsanitize=fuzzer-no-link plus
# AddressSanitizer + UndefinedBehaviorSanitizer, each harness links
# libFuzzer's main. Off (the default), this file adds nothing.
option(SGM_FUZZ "Build the libFuzzer harnesses (clang; own build folder)" OFF)
if(NOT SGM_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SGM_FUZZ=ON needs clang (CC=clang; see scripts/fuzz.sh)")
endif()
set(SGM_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer -g)
# the library sources again, instrumented (the sgm target keeps its flags)
add_library(sgm_fuzzlib STATIC ${SGM_SOURCES})
sgm_target_common(sgm_fuzzlib PUBLIC)
target_compile_options(sgm_fuzzlib PRIVATE ${SGM_FUZZ_FLAGS})
# the CLI's option parser, for fuzz_sigmas and fuzz_cli_args
add_library(sgm_fuzzcli STATIC ${CMAKE_SOURCE_DIR}/tools/cli/args.c)
target_link_libraries(sgm_fuzzcli PUBLIC sgm_fuzzlib)
target_include_directories(sgm_fuzzcli PUBLIC ${CMAKE_SOURCE_DIR}/tools/cli)
target_compile_options(sgm_fuzzcli PRIVATE ${SGM_WARN} ${SGM_FUZZ_FLAGS})

set(SGM_FUZZ_HARNESSES npy safetensors gmm_json idx csv ckpt_info sigmas cli_args png)
add_custom_target(fuzz_harnesses)
foreach(h ${SGM_FUZZ_HARNESSES})
  add_executable(fuzz_${h} ${CMAKE_SOURCE_DIR}/fuzz/fuzz_${h}.c)
  target_compile_options(fuzz_${h} PRIVATE ${SGM_WARN} ${SGM_FUZZ_FLAGS})
  target_link_options(fuzz_${h} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_${h} PRIVATE sgm_fuzzcli sgm_fuzzlib)
  target_include_directories(fuzz_${h} PRIVATE ${CMAKE_SOURCE_DIR}/fuzz ${CMAKE_SOURCE_DIR}/src)
  add_dependencies(fuzz_harnesses fuzz_${h})
endforeach()
