{
  "targets": [
    {
      "target_name": "wsasendto_native",
      "sources": ["src/addon/addon.c", "src/addon/common.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "conditions": [
        ["OS=='win'", { "sources": ["src/addon/win.c"], "libraries": ["-lws2_32"] }],
        ["OS!='win'", { "sources": ["src/addon/posix.c"] }]
      ]
    }
  ]
}
