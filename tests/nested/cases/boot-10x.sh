# Ten boots in a row, none may fail.
i=1
while [ $i -le 10 ]; do
    boot_l2 "run$i" smp
    i=$((i + 1))
done
