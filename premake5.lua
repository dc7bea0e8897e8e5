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
--   fuzz     the libFuzzer targets tests/fuzz/fuzz_*.c (with --fuzzers; clang
--            only: make config=fuzz CC=clang fuzz_NAME; tests/fuzz/run)
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
-- tests/unit/test_<name>.c and http_server, the test HTTP server of the
-- command-line tests (tests/http/).  The unit tests need cmocka, a
-- test-only package, so building the program alone never needs it.
-- build/compile_flags.txt holds the compiler flags every file is built
-- with (warnings, defines, include folders), for tests/clang-check and
-- clang tools.
--
-- The library is compiled with -fvisibility=hidden: a function is public
-- only when its declaration carries CD_API (include/copydesk/export.h).

newoption {
    trigger = "tests",
    description = "Also build the unit test programs (they need cmocka) and http_server"
}

-- (not "fuzz": premake4 would take an option of that name for a term of
-- every configuration, and the fuzz settings would apply to all)
newoption {
    trigger = "fuzzers",
    description = "Also build the fuzz targets (libFuzzer in configuration fuzz, with CC=clang)"
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
local syslibs = { "lua5.4", "cjson", "curl", "xml2", "utf8proc", "stemmer", "xxhash", "microhttpd", "hiredis", "m", "dl" }

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

-- The flags of every file, whatever its configuration.
local cflags = { "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes", "-pthread" }
local cdefines = { "_DEFAULT_SOURCE" }
local cincludes = { "include", "core", "cli", "tests/http" }
for _, dir in ipairs(sys_includes) do table.insert(cincludes, dir) end

-- build/compile_flags.txt: those flags, one per line (clang's format),
-- with the release configuration's defines; paths from the top folder.
if _ACTION then
    os.mkdir("build")
    local f = assert(io.open("build/compile_flags.txt", "w"))
    for _, v in ipairs(cflags) do f:write(v, "\n") end
    for _, v in ipairs(cdefines) do f:write("-D", v, "\n") end
    f:write("-DNDEBUG\n")
    for _, v in ipairs(cincludes) do f:write("-I", v, "\n") end
    f:close()
end

local function common()
    language "C"
    includedirs(cincludes)
    buildoptions(cflags)
    linkoptions { "-pthread" }
    defines(cdefines)
    -- keep the symbols in every binary (premake4 strips with -s otherwise):
    -- a sanitizer's or gdb's stack trace then names functions and lines
    if premake5 then symbols "On" else flags { "Symbols" } end
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
    when "fuzz"
        buildoptions { "-O1", "-g", "-fno-omit-frame-pointer",
                       "-fsanitize=fuzzer-no-link,address,undefined" }
        linkoptions { "-fsanitize=address,undefined" }
        targetdir "build/fuzz"
        objdir "build/obj/fuzz"
    always()
end

solution "copydesk"
    configurations { "release", "debug", "fuzz" }
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
    when "fuzz"
        targetdir "build/fuzz/static"
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
            files { path, "tests/unit/support.c", "tests/http/test_http.c" }
            links { "libcopydesk" }
            links(syslibs)
            links { "cmocka" }
    end

    -- the test HTTP server of the command-line tests (not test_*: that
    -- names the unit test programs tests/run runs)
    project "http_server"
        kind "ConsoleApp"
        common()
        files { "tests/http/test_http.c", "tests/http/test_http_main.c" }
end

-- The fuzz targets: libFuzzer programs in the fuzz configuration; in the
-- others, programs that run the target on the files they are given
-- (tests/fuzz/replay.c), to replay an input without clang.
if _OPTIONS["fuzzers"] then
    for _, path in ipairs(os.matchfiles("tests/fuzz/fuzz_*.c")) do
        project(path:match("([^/]+)%.c$"))
            kind "ConsoleApp"
            common()
            files { path, "tests/fuzz/replay.c" }
            links { "libcopydesk" }
            links(syslibs)
            when "fuzz"
                defines { "CD_FUZZING" }
                linkoptions { "-fsanitize=fuzzer" }
            always()
    end
end
