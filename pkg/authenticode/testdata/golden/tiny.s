# The smallest useful EFI application: efi_main returns EFI_SUCCESS.
# Assembled and linked by recipe.sh into tiny.efi, a PE32+ image of three
# sections (.text, .data, .idata) whose Authenticode digests are pinned.
	.text
	.globl	efi_main
efi_main:
	xorl	%eax, %eax
	ret

	.data
	.ascii	"nix-boot-security Authenticode golden image"
