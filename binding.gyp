{
  # The attnkit addon. Sources are discovered (native/sources.js lists native/{src,kernels,bindings}/**/*.cc),
  # the same set CMakeLists.txt globs. No -march flags: per-ISA files enable their ISA themselves
  # (native/include/attnkit/isa_region.h) and the path is chosen at run time.
  "targets": [
    {
      "target_name": "attnkit",
      "sources": ["<!@(node native/sources.js)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include",
        "native/src",
        "native/bindings"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "defines!": ["NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17", "-O2", "-O0"],
      "cflags": ["-O3", "-fexceptions", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fvisibility=hidden"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "conditions": [["OS=='linux'", { "libraries": ["-ldl"] }]],
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] }
      }
    }
  ]
}
