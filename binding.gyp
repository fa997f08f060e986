{
  "targets": [
    {
      "target_name": "lpscan",
      "sources": ["native/lpscan.c"],
      "cflags": ["-O3", "-std=c11"]
    }
  ]
}
