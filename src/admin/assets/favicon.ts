/**
 * The panel's icon: a white envelope on the panel's blue, as SVG text, so no
 * image file or image library is needed.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="#1f5fbf"/>
<rect x="6" y="9" width="20" height="14" rx="1.5" fill="none" stroke="#fff" stroke-width="2.2"/>
<path d="M7 10.5l9 7 9-7" fill="none" stroke="#fff" stroke-width="2.2" stroke-linejoin="round" stroke-linecap="round"/>
</svg>
`;
