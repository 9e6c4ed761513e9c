// QR code of a link, drawn in the browser as an SVG (no request leaves the
// site). Loaded on demand so the first paint does not wait for it.
import qrcode from 'qrcode-generator';

const SVG = 'http://www.w3.org/2000/svg';

export function qrSvg(text: string, label: string): SVGSVGElement {
    const q = qrcode(0, 'M');
    q.addData(text, 'Byte');
    q.make();
    const n = q.getModuleCount();
    let d = '';
    for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) {
            if (q.isDark(r, c)) d += `M${c} ${r}h1v1h-1z`;
        }
    }
    // A quiet zone of four modules, as the standard asks, on white even in
    // dark mode: phone cameras read dark on light.
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `-4 -4 ${n + 8} ${n + 8}`);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    svg.setAttribute('shape-rendering', 'crispEdges');
    svg.classList.add('qr');
    const bg = document.createElementNS(SVG, 'rect');
    bg.setAttribute('x', '-4');
    bg.setAttribute('y', '-4');
    bg.setAttribute('width', String(n + 8));
    bg.setAttribute('height', String(n + 8));
    bg.setAttribute('fill', '#fff');
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', '#000');
    svg.append(bg, path);
    return svg;
}
