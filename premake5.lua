-- premake5.lua: the build description of copydesk.
--
-- Debian ships premake4, which reads this file as
--     premake4 --file=premake5.lua gmake && make config=release
-- Users with premake5 run `premake5 gmake2` instead.  The file keeps to the
-- API both understand and branches on _PREMAKE_VERSION where they differ.
--
-- Configurations:
--   release  optimized (-O2), the default
--   debug    AddressSanitizer + UndefinedBehaviorSanitizer, no optimization
--
-- Outputs in build/<config>/:
--   libcopydesk.a   the library, static (the archive itself is built in
--                   static/ so that linking the program finds it, not the
--                   shared one; libcopydesk.a is a link to it)
--   libcopydesk.so  the library, shared: exports the public API only (the
--                   functions marked CD_API in include/copydesk/)
--   copydesk.pc     for pkg-config, describing this build tree
--   copydesk        the command line (linked with the static library)
-- With `--tests` (what tests/run passes) also one test_<name> program per
-- tests/unit/test_<name>.c.  The unit tests need cmocka, a test-only
-- package, so building the program alone never needs it.
--
-- The library is compiled with -fvisibility=hidden: a function is public
-- only when its declaration carries CD_API (include/copydesk/export.h).

newoption {
    trigger = "tests",
    description = "Also build the unit test programs (they need cmocka)"
}

local premake5 = _PREMAKE_VERSION ~= nil and _PREMAKE_VERSION:sub(1, 1) == "5"

-- Settings for one configuration, in the dialect of the running premake.
local function when(cfg)
    if premake5 then
        filter("configurations:" .. cfg)
    else
        configuration(cfg)
    end
end

local function always()
    if premake5 then filter({}) else configuration({}) end
end

-- The system libraries libcopydesk uses; see README "Dependencies".
local syslibs = { "lua5.4", "cjson", "curl", "xml2", "utf8proc", "stemmer", "xxhash", "lbfgs", "m", "dl" }

-- The include folders pkg-config gives for a package (Debian puts Lua's
-- headers in /usr/include/lua5.4, libxml2's in /usr/include/libxml2).
local function pkg_includes(pkg)
    local dirs = {}
    local p = io.popen("pkg-config --cflags-only-I " .. pkg .. " 2>/dev/null")
    if p then
        for dir in p:read("*a"):gmatch("%-I(%S+)") do table.insert(dirs, dir) end
        p:close()
    end
    return dirs
end
local sys_includes = pkg_includes("lua5.4")
if #sys_includes == 0 then
    error("pkg-config does not know lua5.4: run tools/install-deps")
end
for _, dir in ipairs(pkg_includes("libxml-2.0")) do table.insert(sys_includes, dir) end

-- The library's version, from include/copydesk.h.
local function version()
    local f = io.open("include/copydesk.h")
    local v = f and f:read("*a"):match('#define CD_VERSION "([^"]+)"') or "0"
    if f then f:close() end
    return v
end

-- build/<config>/copydesk.pc: compiling and linking against this tree.
local function write_pc(config)
    local root = os.getcwd()
    os.mkdir("build/" .. config)
    local private = {}
    for _, l in ipairs(syslibs) do table.insert(private, "-l" .. l) end
    local f = assert(io.open("build/" .. config .. "/copydesk.pc", "w"))
    f:write("prefix=" .. root .. "\n",
            "includedir=${prefix}/include\n",
            "libdir=${prefix}/build/" .. config .. "\n\n",
            "Name: copydesk\n",
            "Description: classify news stories (naive Bayes) and route them (Lua desks)\n",
            "Version: " .. version() .. "\n",
            "Cflags: -I${includedir}\n",
            "Libs: -L${libdir} -lcopydesk\n",
            "Libs.private: -pthread " .. table.concat(private, " ") .. "\n")
    f:close()
end
if _ACTION then
    write_pc("release")
    write_pc("debug")
end

local function common()
    language "C"
    includedirs { "include", "core", "cli" }
    includedirs(sys_includes)
    buildoptions { "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes", "-pthread" }
    linkoptions { "-pthread" }
    defines { "_DEFAULT_SOURCE" }
    when "release"
        buildoptions { "-O2", "-g" }
        defines { "NDEBUG" }
        targetdir "build/release"
        objdir "build/obj/release"
    when "debug"
        buildoptions { "-O1", "-g", "-fno-omit-frame-pointer",
                       "-fsanitize=address,undefined", "-fno-sanitize-recover=all" }
        linkoptions { "-fsanitize=address,undefined" }
        targetdir "build/debug"
        objdir "build/obj/debug"
    always()
end

solution "copydesk"
    configurations { "release", "debug" }
    location "build"

-- The library's own settings, for both its kinds.
local function library()
    common()
    files { "core/**.c" }
    buildoptions { "-fvisibility=hidden" }
end

project "libcopydesk"
    kind "StaticLib"
    targetname "copydesk"
    library()
    when "release"
        targetdir "build/release/static"
        postbuildcommands { "ln -sf static/libcopydesk.a release/libcopydesk.a" }
    when "debug"
        targetdir "build/debug/static"
        postbuildcommands { "ln -sf static/libcopydesk.a debug/libcopydesk.a" }
    always()

project "libcopydesk-shared"
    kind "SharedLib"
    targetname "copydesk"
    library()
    links(syslibs)
    linkoptions { "-Wl,-soname,libcopydesk.so", "-Wl,--no-undefined" }

project "copydesk"
    kind "ConsoleApp"
    common()
    files { "cli/*.c" }
    links { "libcopydesk" }
    links(syslibs)

if _OPTIONS["tests"] then
    for _, path in ipairs(os.matchfiles("tests/unit/test_*.c")) do
        local name = path:match("([^/]+)%.c$")
        project(name)
            kind "ConsoleApp"
            common()
            files { path, "tests/unit/support.c" }
            links { "libcopydesk" }
            links(syslibs)
            links { "cmocka" }
    end
end
