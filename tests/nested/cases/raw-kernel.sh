# --kernel-format raw through the kvmkit command: the arm64 suite's raw
# guest (tests/arm64/guests/raw_hello.S, no Image header) prints its line on
# the console and powers off (exit code 0); without the setting the same
# file is refused (exit code 2) with one message naming the setting.
/bin/kvmkit run -k /guests/raw_hello.img --kernel-format raw -m 16M --timeout 60
printf '\nKVMKIT-RC raw %s\n' "$?"
/bin/kvmkit run -k /guests/raw_hello.img -m 16M --timeout 60 >/tmp/out 2>/tmp/err
echo "KVMKIT-RAW refused rc=$? lines=$(wc -l </tmp/err) out=$(wc -c </tmp/out) msg=$(cat /tmp/err)"
