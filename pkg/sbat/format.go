package sbat

// Header is the first line of every SBAT section: the version of the SBAT
// format itself (SBAT.md, "SBAT Version").
const Header = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md"

// UKIEntry is the entry ukify adds when the user gives no SBAT of their own,
// so that UKIs as a class can be revoked.
const UKIEntry = "uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/"

// NumFields is the number of comma-separated fields in an SBAT line, in
// order: component_name, component_generation, vendor_name,
// vendor_package_name, vendor_version, vendor_url.
const NumFields = 6

var fieldNames = [NumFields]string{
	"component_name", "component_generation", "vendor_name",
	"vendor_package_name", "vendor_version", "vendor_url",
}
