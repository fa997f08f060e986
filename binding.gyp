{
  "targets": [
    {
      "target_name": "lpscan",
      "sources": [
        "native/lpscan.c"
      ],
      "cflags": [
        "-O3",
        "-std=c11"
      ]
    },
    {
      "target_name": "logscan",
      "sources": [
        "native/logscan.c"
      ],
      "cflags": [
        "-O3",
        "-std=c11"
      ],
      "libraries": [
        "-lm"
      ]
    }
  ]
}
