# Run by `cmake --install` (CMakeLists.txt sets the WP_* variables first), before
# any file is copied. Two things must be done at install time, when the prefix is
# known (`cmake --install --prefix` may change it):
#   - note the destination directories that do not exist yet, so that the
#     uninstall target (packaging/uninstall.cmake) removes them again, and only
#     them, when they are empty;
#   - write workerpool.pc and the CMake package from their templates, the same
#     way `make install` does, so that both routes install identical files.

# wp_full(<out> <dir>): <dir> as an absolute path under the install prefix.
function(wp_full out dir)
    if(IS_ABSOLUTE "${dir}")
        set(${out} "${dir}" PARENT_SCOPE)
    else()
        set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
    endif()
endfunction()

wp_full(_wp_include "${WP_INCLUDEDIR}")
wp_full(_wp_pkgconfig "${WP_PKGCONFIGDIR}")
wp_full(_wp_cmake "${WP_CMAKEDIR}")

set(_wp_created "")
if(EXISTS "${WP_RECORD}")
    file(STRINGS "${WP_RECORD}" _wp_created)
endif()
# Paths are noted without DESTDIR, which the uninstall target adds again; the
# root of the tree (DESTDIR itself) is never noted.
foreach(_wp_dir IN ITEMS "${_wp_include}" "${_wp_pkgconfig}" "${_wp_cmake}")
    set(_wp_path "${_wp_dir}")
    while(NOT _wp_path MATCHES "^/*$" AND NOT IS_DIRECTORY "$ENV{DESTDIR}${_wp_path}")
        list(APPEND _wp_created "${_wp_path}")
        get_filename_component(_wp_parent "${_wp_path}" DIRECTORY)
        if(_wp_parent STREQUAL _wp_path)
            break()
        endif()
        set(_wp_path "${_wp_parent}")
    endwhile()
endforeach()
if(_wp_created)
    list(REMOVE_DUPLICATES _wp_created)
    list(SORT _wp_created)
    string(REPLACE ";" "\n" _wp_lines "${_wp_created}")
    file(WRITE "${WP_RECORD}" "${_wp_lines}\n")
endif()

# The same values the Makefile's install target computes.
set(WP_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${WP_INCLUDEDIR}")
    set(WP_PC_INCLUDEDIR "${WP_INCLUDEDIR}")
else()
    set(WP_PC_INCLUDEDIR "\${prefix}/${WP_INCLUDEDIR}")
endif()
if(IS_ABSOLUTE "${WP_INCLUDEDIR}" OR IS_ABSOLUTE "${WP_CMAKEDIR}")
    set(WP_CMAKE_INCLUDEDIR "${_wp_include}")
else()
    file(RELATIVE_PATH _wp_rel "${_wp_cmake}" "${_wp_include}")
    set(WP_CMAKE_INCLUDEDIR "\${CMAKE_CURRENT_LIST_DIR}/${_wp_rel}")
endif()
foreach(_wp_file IN ITEMS workerpool.pc workerpoolConfig.cmake workerpoolConfigVersion.cmake)
    configure_file("${WP_SOURCE_DIR}/packaging/${_wp_file}.in" "${WP_OUT}/${_wp_file}" @ONLY)
endforeach()
