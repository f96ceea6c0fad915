# The uninstall target of CMakeLists.txt: removes every file that
# `cmake --install` listed in install_manifest.txt, then each directory that
# packaging/install.cmake noted as created by the install, where it is empty
# now. Both lists hold paths without DESTDIR: give the same DESTDIR as to the
# install (DESTDIR=/stage cmake --build build --target uninstall). Run as
#   cmake -DWP_MANIFEST=<install_manifest.txt> -DWP_RECORD=<dirs file> -P uninstall.cmake
if(NOT EXISTS "${WP_MANIFEST}")
    message(FATAL_ERROR "${WP_MANIFEST} not found: nothing was installed from this build directory")
endif()

file(STRINGS "${WP_MANIFEST}" _wp_files)
set(_wp_found FALSE)
foreach(_wp_file IN LISTS _wp_files)
    set(_wp_file "$ENV{DESTDIR}${_wp_file}")
    if(EXISTS "${_wp_file}" OR IS_SYMLINK "${_wp_file}")
        message(STATUS "Uninstalling: ${_wp_file}")
        file(REMOVE "${_wp_file}")
        set(_wp_found TRUE)
    endif()
endforeach()
if(NOT _wp_found)
    # Keep the list of directories for a run with the right DESTDIR.
    message(STATUS "No installed file found under DESTDIR=\"$ENV{DESTDIR}\": nothing removed")
    return()
endif()

if(EXISTS "${WP_RECORD}")
    file(STRINGS "${WP_RECORD}" _wp_dirs)
    # A directory sorts after its parent: in reverse order, children go first.
    list(SORT _wp_dirs)
    list(REVERSE _wp_dirs)
    foreach(_wp_dir IN LISTS _wp_dirs)
        set(_wp_dir "$ENV{DESTDIR}${_wp_dir}")
        if(IS_DIRECTORY "${_wp_dir}")
            file(GLOB _wp_entries LIST_DIRECTORIES true "${_wp_dir}/*" "${_wp_dir}/.*")
            if(NOT _wp_entries)
                message(STATUS "Removing empty directory: ${_wp_dir}")
                file(REMOVE_RECURSE "${_wp_dir}")
            endif()
        endif()
    endforeach()
    file(REMOVE "${WP_RECORD}")
endif()
