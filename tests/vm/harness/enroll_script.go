package harness

// EfivarsScript is a busybox sh script for a test initrd (needs the
// efivarfs module loaded) that mounts efivarfs if needed and prints one
// line, "efivars: SecureBoot=N SetupMode=N" ("none" for a missing
// variable); see ParseEfivarsLine.
const EfivarsScript = `#!/bin/sh
efivars=/sys/firmware/efi/efivars
global=8be4df61-93ca-11d2-aa0d-00e098032b8c
[ -e $efivars/SetupMode-$global ] || mount -t efivarfs efivarfs $efivars || exit 2
# A byte variable's file is 4 attribute bytes then the value.
value() {
	if [ -e "$efivars/$1-$global" ]; then
		dd if="$efivars/$1-$global" bs=64 2>/dev/null | od -An -tu1 | awk '{ print $NF }'
	else
		echo none
	fi
}
echo "efivars: SecureBoot=$(value SecureBoot) SetupMode=$(value SetupMode)"
`

// enrollScript writes each /enroll.d file to the efivarfs file of the
// same name (less its NN- and opt- prefixes), in name order, with one
// write(2) each (dd bs=1M: efivarfs turns each write into one SetVariable
// call), then prints the variables. A refused write that is not optional
// ends the script with status 3.
const enrollScript = `#!/bin/sh
efivars=/sys/firmware/efi/efivars
mount -t efivarfs efivarfs $efivars || { echo "enroll: cannot mount efivarfs"; exit 2; }
for f in /enroll.d/*; do
	base=${f##*/}
	n=${base%%-*}
	var=${base#*-}
	opt=0
	case $var in opt-*) opt=1; var=${var#opt-};; esac
	if dd if="$f" of="$efivars/$var" bs=1M conv=notrunc 2>/tmp/dd.err; then
		echo "enroll: accepted $n"
	else
		echo "enroll: refused $n: $(grep -v records /tmp/dd.err | tail -n 1)"
		[ $opt = 1 ] || exit 3
	fi
done
/bin/efivars
`
