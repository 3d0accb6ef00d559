# Installs the built rros into a fresh prefix, then builds the downstream
# project twice against it (CMake package and pkg-config) and runs both.
#   cmake -DRROS_BUILD_DIR=<build> -DWORK_DIR=<dir> [-DCOMPILER_LAUNCHER=ccache]
#         -P run.cmake
foreach(var RROS_BUILD_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()
set(source ${CMAKE_CURRENT_LIST_DIR})
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code)
  if(NOT code EQUAL 0)
    string(REPLACE ";" " " text "${ARGN}")
    message(FATAL_ERROR "failed (${code}): ${text}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install ${RROS_BUILD_DIR} --prefix ${prefix})
foreach(header rros/facade/resource_manager.hpp rros/messages/types.hpp)
  if(NOT EXISTS ${prefix}/include/${header})
    message(FATAL_ERROR "not installed: include/${header}")
  endif()
endforeach()

# 1. find_package(rros), target rros::rros.
set(launcher)
if(COMPILER_LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${COMPILER_LAUNCHER})
endif()
run(${CMAKE_COMMAND} -S ${source} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release ${launcher})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/downstream)

# 2. pkg-config rros.
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB pc_files ${prefix}/lib*/pkgconfig/rros.pc ${prefix}/lib/*/pkgconfig/rros.pc)
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs rros
  OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "pkg-config does not know rros (${pc_file})")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${COMPILER_LAUNCHER} c++ -std=c++17 -O1 ${source}/main.cpp -o ${WORK_DIR}/downstream-pc ${flags})
run(${WORK_DIR}/downstream-pc)
