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
-- Outputs: build/<config>/libcopydesk.a and build/<config>/copydesk; with
-- `--tests` (what tests/run passes) also one build/<config>/test_<name>
-- program per tests/unit/test_<name>.c.  The unit tests need cmocka, a
-- test-only package, so building the program alone never needs it.

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
local syslibs = { "lua5.4", "cjson", "curl", "expat", "utf8proc", "stemmer", "xxhash", "m", "dl" }

local function common()
    language "C"
    includedirs { "include", "core", "cli", "/usr/include/lua5.4" }
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

project "libcopydesk"
    kind "StaticLib"
    targetname "copydesk"
    common()
    files { "core/**.c" }

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
