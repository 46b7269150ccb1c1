# ROS 2 packages installed from PyPI wheels (ros-jazzy-*) export CMake targets whose
# include directories point at the wheel builder's interpreter (/opt/python/cp311-cp311/...).
# CMake refuses to generate with non-existent include paths, so rewrite them to this
# machine's Python and NumPy headers. On a regular apt/source ROS install nothing matches
# and this is a no-op.
set(_wheel_python_prefix "/opt/python/cp311-cp311")
if(NOT EXISTS "${_wheel_python_prefix}")
  find_package(Python3 REQUIRED COMPONENTS Interpreter Development NumPy)
  get_property(_imported DIRECTORY PROPERTY IMPORTED_TARGETS)
  foreach(_target IN LISTS _imported)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(_dirs AND "${_dirs}" MATCHES "${_wheel_python_prefix}")
      set(_fixed "")
      foreach(_dir IN LISTS _dirs)
        if(_dir MATCHES "^${_wheel_python_prefix}/include/")
          list(APPEND _fixed ${Python3_INCLUDE_DIRS})
        elseif(_dir MATCHES "numpy/_core/include$|numpy/core/include$")
          list(APPEND _fixed ${Python3_NumPy_INCLUDE_DIRS})
        elseif(NOT _dir MATCHES "^${_wheel_python_prefix}")
          list(APPEND _fixed "${_dir}")
        endif()
      endforeach()
      list(REMOVE_DUPLICATES _fixed)
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_fixed}")
    endif()
  endforeach()
endif()
